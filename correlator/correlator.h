/* The correlator service: parry.events -> Sigma detection (stage 1) ->
 * parry.signals -> windows per group key (stage 2) -> parry.alerts, both
 * stages exactly-once (Kafka transactions; readers use read_committed).
 * Stage 1: correlator/stage1.h. Stage 2: correlator/stage2.h. Sharding,
 * crashes and rebalances: README, "Correlation: sharding, crashes and
 * rebalances". */
#ifndef PARRY_CORRELATOR_H
#define PARRY_CORRELATOR_H

#include "stage1.h"
#include "stage2.h"

/* parry-correlator: configuration, health and metrics around the stages of
 * correlator.stages (both: two worker threads; detect or correlate: one, so
 * that they scale apart). With `both` and rules that hold no correlation
 * rule, stage 2 is not started (logged). Ready when every running stage is.
 * SIGTERM/SIGINT: commit the open transactions, leave the groups, exit 0.
 * Exit 1 when a stage failed (fenced, fatal Kafka error: the uncommitted
 * input is re-read by whoever takes over), 2 on a configuration or start-up
 * error (no rules, no rule loaded, bad setting, `correlate` without
 * correlation rules). */
int parry_correlator_main(int argc, char **argv, char **envp);

#endif
