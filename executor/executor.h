/* The executor service: parry.alerts -> cases in PostgreSQL -> runbooks.
 * The work is in worker/ (worker/worker.h says what it guarantees). */
#ifndef PARRY_EXECUTOR_H
#define PARRY_EXECUTOR_H

int parry_executor_main(int argc, char **argv, char **envp);

#endif
