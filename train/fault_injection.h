// Deliberate crashes for the kill-and-resume tests: with TROL_FAULT=<point>@<step>[:TERM|:STOP]
// in the environment, the trainer sends itself SIGKILL (or SIGTERM, or SIGSTOP: a hung rank)
// when it reaches <point> at global optimizer step <step> (counted from 1 over all stages);
// with TROL_FAULT_RANK=<r> as well, only the rank whose RANK is r does. The points are
//   mid_step        gradients computed, the optimizer update not yet applied
//   after_step      the update applied, before a checkpoint that step may write
//   mid_checkpoint  a checkpoint's weights written, its manifest and final name not yet
// A real SIGKILL at a chosen point makes these tests deterministic where a kill from outside
// would land wherever the timing put it. Without TROL_FAULT nothing happens.
#pragma once

#include <cstdint>

namespace trol {

void fault_point(const char* point, int64_t global_step);

}  // namespace trol
