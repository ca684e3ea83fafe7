/* The correlator service: parry.events -> Sigma detection (stage 1) ->
 * parry.signals -> windows per group key (stage 2) -> parry.alerts.
 * Status: stage 1 runs (correlator/stage1.h): single-event Sigma rules turn
 * Events into Alerts on topics.alerts, at-least-once. Correlation rules
 * (stage 2) and exactly-once transactions arrive with correlator part 2. */
#ifndef PARRY_CORRELATOR_H
#define PARRY_CORRELATOR_H

#include "stage1.h"

/* parry-correlator: configuration, health and metrics around stage 1.
 * SIGTERM/SIGINT: finish and commit the batch in hand, flush, leave the
 * group, exit 0. Exit 1 when alerts could not be delivered (their offsets are
 * not committed: a restart re-reads them), 2 on a configuration or start-up
 * error (no rules, no rule loaded, bad setting). */
int parry_correlator_main(int argc, char **argv, char **envp);

#endif
