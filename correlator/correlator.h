/* The correlator service: parry.events -> Sigma detection (stage 1) ->
 * parry.signals -> windows per group key (stage 2) -> parry.alerts.
 * Status: the service frame runs; rule evaluation arrives with the
 * correlator issues. */
#ifndef PARRY_CORRELATOR_H
#define PARRY_CORRELATOR_H

int parry_correlator_main(int argc, char **argv, char **envp);

#endif
