/* The ingestor service: sources -> parsers -> parry.events.
 * Status: the service frame (configuration, logging, health and metrics) runs;
 * sources and parsers arrive with the ingestor issue. */
#ifndef PARRY_INGESTOR_H
#define PARRY_INGESTOR_H

int parry_ingestor_main(int argc, char **argv, char **envp);

#endif
