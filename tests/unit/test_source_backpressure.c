/* Backpressure without a broker: when the Kafka producer's queue is full,
 * the syslog TCP source stops reading, so a sender's writes block (here: a
 * non-blocking socket reports EAGAIN) rather than the ingestor buffering
 * without bound or dropping; the wait is counted. The producer points at a
 * port where nothing listens and may hold one message. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ingestor.h"
#include "parry/config.h"
#include "parry/log.h"
#include "parry/metrics.h"
#include "publish.h"

static void test_tcp_sender_blocks(void **state) {
  (void)state;
  parry_config_t *cfg = parry_config_new();
  const char *settings[] = {"kafka.bootstrap.servers=127.0.0.1:1",
                            "kafka.queue.buffering.max.messages=1",
                            "ingestor.shutdown_timeout=0",
                            "ingestor.syslog.tcp.enabled=true",
                            "ingestor.syslog.tcp.listen=127.0.0.1:0",
                            NULL};
  char err[1024];
  for (size_t i = 0; settings[i]; i++)
    if (parry_config_set(cfg, settings[i], "test", err, sizeof err)) fail_msg("%s", err);
  parry_metrics_t *m = parry_metrics_new();
  parry_ingestor_t *ing = NULL;
  if (parry_ingestor_start(cfg, m, &ing, err, sizeof err)) fail_msg("%s", err);
  parry_ingestor_ports_t ports;
  parry_ingestor_ports(ing, &ports);

  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(ports.syslog_tcp)};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  fcntl(fd, F_SETFL, O_NONBLOCK);
  static const char line[] = "<38>Dec 10 06:55:46 LabSZ sshd[24200]: Failed password for root "
                             "from 10.0.0.1 port 22 ssh2\n";
  /* Write until the kernel says the receiver is not reading. Socket buffers
   * hold a few MiB at most; 64 MiB written would mean nobody pushes back. */
  size_t written = 0;
  int64_t deadline = parry_now_ms() + 20000;
  bool blocked = false;
  while (written < (64u << 20) && parry_now_ms() < deadline) {
    ssize_t n = send(fd, line, sizeof line - 1, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      /* Full now; make sure it stays full (the ingestor is not reading). */
      usleep(300000);
      n = send(fd, line, sizeof line - 1, MSG_NOSIGNAL);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        blocked = true;
        break;
      }
    }
    if (n > 0) written += (size_t)n;
  }
  printf("# the sender blocked after %zu bytes\n", written);
  assert_true(blocked);
  assert_true(written < (64u << 20));
  int64_t records = parry_metric_value(parry_metrics_counter(
      m, "parry_ingestor_records_total", "", "source", "syslog-tcp", NULL));
  assert_true(records >= 1 && records * (int64_t)(sizeof line - 1) < (int64_t)written);
  assert_int_equal(parry_metric_value(parry_metrics_counter(
                       m, "parry_ingestor_backpressure_waits_total", "", "source", "syslog-tcp",
                       NULL)),
                   1);
  close(fd);
  /* The one queued message, and the one the source was waiting to queue,
   * are what the shutdown gives up (logged, counted). */
  assert_int_equal(parry_ingestor_stop(ing), 1);
  parry_metrics_destroy(m);
  parry_config_destroy(cfg);
}

int main(void) {
  parry_log_init("test", PARRY_LOG_FATAL); /* librdkafka cannot reach the broker, and says so */
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tcp_sender_blocks),
  };
  return cmocka_run_group_tests_name("source_backpressure", tests, NULL, NULL);
}
