#include "parry/service.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "parry/log.h"
#include "parry/mem.h"

/* Signal handlers can only reach globals; this flag is the one piece of
 * process-wide mutable state, written by the handler and read by all. */
static atomic_bool stop_requested;

static void on_signal(int sig) {
  (void)sig;
  atomic_store(&stop_requested, true);
}

bool parry_service_stopping(void) { return atomic_load(&stop_requested); }
void parry_service_request_stop(void) { atomic_store(&stop_requested, true); }

void parry_service_wait(void) {
  while (!parry_service_stopping()) usleep(100 * 1000);
}

typedef struct {
  parry_service_t pub;
  pthread_mutex_t lock;
  bool ready;
  char why[256];
} service_impl_t;

static bool service_ready(void *opaque, char *why, size_t why_size) {
  service_impl_t *s = opaque;
  pthread_mutex_lock(&s->lock);
  bool ready = s->ready;
  if (!ready) snprintf(why, why_size, "%s", s->why);
  pthread_mutex_unlock(&s->lock);
  return ready;
}

void parry_service_set_ready(parry_service_t *svc, bool ready, const char *why) {
  service_impl_t *s = (service_impl_t *)svc;
  pthread_mutex_lock(&s->lock);
  s->ready = ready;
  snprintf(s->why, sizeof s->why, "%s", why ? why : "");
  pthread_mutex_unlock(&s->lock);
}

parry_err_t parry_service_start(const char *component, int *argc, char **argv,
                                char *const *envp, parry_service_t **out, char *errstr,
                                size_t errstr_size) {
  service_impl_t *s = parry_xnew(service_impl_t, 1);
  parry_err_t err;
  pthread_mutex_init(&s->lock, NULL);
  snprintf(s->why, sizeof s->why, "starting");
  s->pub.component = component;
  s->pub.config = parry_config_new();
  s->pub.metrics = parry_metrics_new();
  parry_log_init(component, PARRY_LOG_INFO);

  if ((err = parry_config_from_args(s->pub.config, argc, argv, envp, errstr, errstr_size)))
    goto fail;
  parry_log_level_t level;
  parry_log_level_parse(parry_config_str(s->pub.config, "log.level"), &level);
  parry_log_init(component, level);

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN); /* a closed socket is an error return, not a death */

  if (parry_config_bool(s->pub.config, "http.enabled")) {
    const char *listen = parry_config_str(s->pub.config, "http.listen");
    if ((err = parry_http_start(listen, s->pub.metrics, service_ready, s, &s->pub.http, errstr,
                                errstr_size)))
      goto fail;
    LOG_INFO("health and metrics on port %u (http.listen=%s)", parry_http_port(s->pub.http),
             listen);
  }
  *out = &s->pub;
  return PARRY_OK;
fail:
  parry_service_destroy(&s->pub);
  return err;
}

int parry_service_open(const char *component, const char *usage, int argc, char **argv,
                       char *const *envp, parry_service_t **out) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      printf("%s", usage);
      return 0;
    }
  }
  char err[1024];
  if (parry_service_start(component, &argc, argv, envp, out, err, sizeof err)) {
    fprintf(stderr, "parry-%s: %s\n", component, err);
    return 2;
  }
  if (argc > 1) {
    fprintf(stderr, "parry-%s: unexpected argument \"%s\" (see --help)\n", component, argv[1]);
    parry_service_destroy(*out);
    *out = NULL;
    return 2;
  }
  return -1;
}

void parry_service_destroy(parry_service_t *svc) {
  if (!svc) return;
  service_impl_t *s = (service_impl_t *)svc;
  parry_http_stop(svc->http);
  parry_metrics_destroy(svc->metrics);
  parry_config_destroy(svc->config);
  pthread_mutex_destroy(&s->lock);
  free(s);
}
