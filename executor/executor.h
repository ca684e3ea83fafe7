/* The executor service: parry.alerts -> cases in PostgreSQL -> runbooks.
 * Status: the service frame runs; cases and runbooks arrive with the
 * executor issue. */
#ifndef PARRY_EXECUTOR_H
#define PARRY_EXECUTOR_H

int parry_executor_main(int argc, char **argv, char **envp);

#endif
