/* `exec`: run a program (forensic script, memory dump) with an argv array,
 * directly through posix_spawn: no shell ever sees the arguments.
 *
 *   - argv[0] must be an absolute path, and in exec.allow when it is set;
 *   - the environment is empty but for exec.env and the step's `env`;
 *   - stdin is /dev/null; stdout and stderr are captured, each up to
 *     limits.exec_max_output (the rest is read and dropped, never blocking
 *     the child);
 *   - the child leads its own process group; at the timeout the whole group
 *     gets SIGKILL.
 * Outputs: exit_code (or signal), stdout, stderr, *_truncated. A non-zero
 * exit status fails the step (FAILED), a timeout is RETRYABLE. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "connectors/conn_internal.h"
#include "parry/mem.h"

static const parry_conn_input_t inputs[] = {
    {"argv", PARRY_CONN_IN_ARGV, 0, true, "program (absolute path) and arguments"},
    {"env", PARRY_CONN_IN_MAP, PARRY_CONN_IN_TEXT, false, "environment variables to set"},
    {"cwd", PARRY_CONN_IN_TEXT, 0, false, "working directory"},
};

static bool env_name_ok(const char *s) {
  if (!*s || !(((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')) || *s == '_')) return false;
  for (; *s; s++)
    if (!(((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')) || (*s >= '0' && *s <= '9') || *s == '_')) return false;
  return true;
}

static void free_vec(char **v) {
  for (size_t i = 0; v && v[i]; i++) free(v[i]);
  free(v);
}

static parry_err_t start(conn_call_t *call, char *errstr, size_t n) {
  const parry_conn_config_t *cfg = conn_call_config(call);
  struct json_object *av = conn_in(call, "argv");
  if (!av || !json_object_is_type(av, json_type_array) || json_object_array_length(av) == 0)
    return parry_fail(errstr, n, PARRY_ERR_INVALID, "argv must be a non-empty list of strings");
  size_t argc = json_object_array_length(av);
  if (argc > 4096) return parry_fail(errstr, n, PARRY_ERR_INVALID, "argv has too many elements");
  char **argv = parry_xnew(char *, argc + 1);
  for (size_t i = 0; i < argc; i++) {
    struct json_object *e = json_object_array_get_idx(av, i);
    if (!e || json_object_is_type(e, json_type_object) || json_object_is_type(e, json_type_array)) {
      free_vec(argv);
      return parry_fail(errstr, n, PARRY_ERR_INVALID, "argv[%zu] is not a string", i);
    }
    const char *s = json_object_get_string(e);
    if ((size_t)json_object_get_string_len(e) != strlen(s)) {
      free_vec(argv);
      return parry_fail(errstr, n, PARRY_ERR_INVALID, "argv[%zu] contains a NUL byte", i);
    }
    argv[i] = parry_xstrdup(s);
  }
  if (argv[0][0] != '/') {
    parry_err_t err = parry_fail(errstr, n, PARRY_ERR_INVALID,
                                 "argv[0] must be an absolute path (no PATH search)");
    free_vec(argv);
    return err;
  }
  if (cfg->nexec_allow) {
    bool ok = false;
    for (size_t i = 0; i < cfg->nexec_allow && !ok; i++) ok = strcmp(cfg->exec_allow[i], argv[0]) == 0;
    if (!ok) {
      parry_err_t err = parry_fail(errstr, n, PARRY_ERR_INVALID, "%s is not in exec.allow", argv[0]);
      free_vec(argv);
      return err;
    }
  }
  struct json_object *envo = conn_in(call, "env");
  size_t nenv = cfg->nexec_env + (envo && json_object_is_type(envo, json_type_object)
                                      ? (size_t)json_object_object_length(envo) : 0);
  char **envp = parry_xnew(char *, nenv + 1);
  size_t ne = 0;
  for (size_t i = 0; i < cfg->nexec_env; i++) envp[ne++] = parry_xstrdup(cfg->exec_env[i]);
  if (envo && json_object_is_type(envo, json_type_object)) {
    json_object_object_foreach(envo, k, v) {
      const char *val = v ? json_object_get_string(v) : "";
      if (!env_name_ok(k)) {
        free_vec(argv);
        free_vec(envp);
        return parry_fail(errstr, n, PARRY_ERR_INVALID, "env: \"%.64s\" is not a variable name", k);
      }
      parry_buf_t b = PARRY_BUF_INIT(0);
      parry_buf_printf(&b, "%s=%s", k, val);
      envp[ne++] = parry_buf_steal(&b);
    }
  }
  int out[2] = {-1, -1}, err[2] = {-1, -1};
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    int e = errno;
    for (int i = 0; i < 2; i++) {
      if (out[i] >= 0) close(out[i]);
      if (err[i] >= 0) close(err[i]);
    }
    free_vec(argv);
    free_vec(envp);
    call->state = CONN_CALL_NEW;
    conn_call_fail(call, PARRY_CONN_RETRYABLE, "exec: could not create pipes: %s", strerror(e));
    return PARRY_OK;
  }
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  /* Nothing else of ours (sockets, database connections) leaks into the child. */
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  const char *cwd = conn_in_str(call, "cwd");
  if (cwd) posix_spawn_file_actions_addchdir_np(&fa, cwd);
  posix_spawnattr_init(&at);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setsigdefault(&at, &all);
  posix_spawnattr_setpgroup(&at, 0);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                    POSIX_SPAWN_SETPGROUP);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &fa, &at, argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  close(out[1]);
  close(err[1]);
  free_vec(envp);
  if (rc != 0) {
    close(out[0]);
    close(err[0]);
    parry_err_t e = parry_fail(errstr, n, PARRY_ERR_NOT_FOUND, "could not run %s: %s", argv[0],
                               strerror(rc));
    free_vec(argv);
    return e;
  }
  free_vec(argv);
  fcntl(out[0], F_SETFL, fcntl(out[0], F_GETFL) | O_NONBLOCK);
  fcntl(err[0], F_SETFL, fcntl(err[0], F_GETFL) | O_NONBLOCK);
  call->pid = pid;
  call->out_fd = out[0];
  call->err_fd = err[0];
  /* A pidfd wakes the engine's poll when the child exits (Linux >= 5.3);
   * without one the engine polls every 50 ms while children run. */
  call->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  call->deadline_ns = call->start_ns + call->timeout_ns;
  conn_exec_started(call);
  return PARRY_OK;
}

const parry_connector_t parry_connector_exec = {
    .name = "exec",
    .help = "run a program with an argv array (no shell), clean environment, timeout, capped output",
    .inputs = inputs,
    .ninputs = sizeof inputs / sizeof inputs[0],
    .start = start,
};
