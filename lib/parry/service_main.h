/* The shared main() of a service binary whose pipeline is not built yet:
 * parse configuration, serve health and metrics, report not-ready with the
 * reason, and wait for SIGTERM. Keeps every binary deployable from day one. */
#ifndef PARRY_SERVICE_MAIN_H
#define PARRY_SERVICE_MAIN_H

int parry_service_main_idle(const char *component, const char *usage, const char *missing,
                            int argc, char **argv, char **envp);

#endif
