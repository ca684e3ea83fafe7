/* Rendering planned items as the text real systems write: OpenSSH's and
 * pam_unix's syslog lines (RFC 3164, as rsyslog writes them to auth.log)
 * and Windows Security events as EVTX JSON (the shape evtx_dump writes).
 * Times are UTC; month names come from a table, never from the locale. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gen_internal.h"

const char *const gen_ssh_hosts[] = {"web01", "web02", "db01",  "bastion",
                                     "git01", "ci-runner2", "mail01"};
const unsigned gen_ssh_host_count = sizeof gen_ssh_hosts / sizeof gen_ssh_hosts[0];
const char *const gen_win_hosts[] = {"DC01.corp.example.com", "DC02.corp.example.com",
                                     "FS01.corp.example.com", "APP01.corp.example.com",
                                     "RDS01.corp.example.com"};
const unsigned gen_win_host_count = sizeof gen_win_hosts / sizeof gen_win_hosts[0];

static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void gen_format_ip(uint32_t ip, char out[16]) {
  snprintf(out, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

static struct tm utc(int64_t ns) {
  time_t t = (time_t)(ns / 1000000000LL);
  struct tm tm;
  gmtime_r(&t, &tm);
  return tm;
}

/* "Mar  2 09:00:01 web01 sshd[1234]: " */
static void syslog_prefix(gen_render_t *r, const gen_item_t *it, parry_buf_t *out) {
  struct tm tm = utc(it->ts);
  uint32_t *pid = it->conn < r->n_conn ? &r->conn_pid[it->conn] : NULL;
  if (pid && !*pid) { /* a new connection: sshd forks a new process */
    r->ssh_pid[it->host] += 1 + gen_rng_below(&r->rng, 90);
    *pid = r->ssh_pid[it->host];
  }
  parry_buf_printf(out, "%s %2d %02d:%02d:%02d %s sshd[%u]: ", months[tm.tm_mon], tm.tm_mday,
                   tm.tm_hour, tm.tm_min, tm.tm_sec, gen_ssh_hosts[it->host], pid ? *pid : 1);
}

static void fingerprint(gen_rng_t *rng, char out[44]) {
  static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int i = 0; i < 43; i++) out[i] = b64[gen_rng_below(rng, 64)];
  out[43] = '\0';
}

static void render_ssh(gen_render_t *r, const gen_item_t *it, parry_buf_t *out) {
  char ip[16];
  gen_format_ip(it->ip, ip);
  syslog_prefix(r, it, out);
  switch ((gen_tmpl_t)it->tmpl) {
  case T_SSH_ACCEPTED_PW:
    parry_buf_printf(out, "Accepted password for %s from %s port %u ssh2", it->user, ip, it->port);
    break;
  case T_SSH_ACCEPTED_KEY: {
    char fp[44];
    fingerprint(&r->rng, fp);
    parry_buf_printf(out, "Accepted publickey for %s from %s port %u ssh2: ED25519 SHA256:%s",
                     it->user, ip, it->port, fp);
    break;
  }
  case T_SSH_FAILED_PW:
    parry_buf_printf(out, "Failed password for %s from %s port %u ssh2", it->user, ip, it->port);
    break;
  case T_SSH_FAILED_PW_INVALID:
    parry_buf_printf(out, "Failed password for invalid user %s from %s port %u ssh2", it->user,
                     ip, it->port);
    break;
  case T_SSH_INVALID_USER:
    parry_buf_printf(out, "Invalid user %s from %s port %u", it->user, ip, it->port);
    break;
  case T_SSH_PAM_AUTH_FAIL:
    parry_buf_printf(out,
                     "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 "
                     "tty=ssh ruser= rhost=%s  user=%s",
                     ip, it->user);
    break;
  case T_SSH_PAM_UNKNOWN:
    parry_buf_printf(out, "pam_unix(sshd:auth): check pass; user unknown");
    break;
  case T_SSH_SESSION_OPEN:
    parry_buf_printf(out, "pam_unix(sshd:session): session opened for user %s(uid=%u) by (uid=0)",
                     it->user, it->uid);
    break;
  case T_SSH_SESSION_CLOSE:
    parry_buf_printf(out, "pam_unix(sshd:session): session closed for user %s", it->user);
    break;
  case T_SSH_RECV_DISCONNECT:
    parry_buf_printf(out, "Received disconnect from %s port %u:11: disconnected by user", ip,
                     it->port);
    break;
  case T_SSH_DISCONNECTED_USER:
    parry_buf_printf(out, "Disconnected from user %s %s port %u", it->user, ip, it->port);
    break;
  case T_SSH_CLOSED_PREAUTH:
    parry_buf_printf(out, "Connection closed by authenticating user %s %s port %u [preauth]",
                     it->user, ip, it->port);
    break;
  case T_SSH_CLOSED_PREAUTH_INVALID:
    parry_buf_printf(out, "Connection closed by invalid user %s %s port %u [preauth]", it->user,
                     ip, it->port);
    break;
  case T_SSH_RECV_BYE_PREAUTH:
    parry_buf_printf(out, "Received disconnect from %s port %u:11: Bye Bye [preauth]", ip,
                     it->port);
    break;
  default:
    break;
  }
}

/* The System element every Security-Auditing event shares. */
static void win_system(gen_render_t *r, const gen_item_t *it, unsigned event_id, unsigned task,
                       const char *keywords, unsigned version, parry_buf_t *out) {
  struct tm tm = utc(it->ts);
  unsigned us = (unsigned)((it->ts % 1000000000LL) / 1000);
  uint64_t record = ++r->win_record[it->host];
  unsigned thread = 100 + 4 * gen_rng_below(&r->rng, 2000);
  parry_buf_printf(out,
                   "{\"Event\": {\"System\": {\"Provider\": {\"#attributes\": {\"Name\": "
                   "\"Microsoft-Windows-Security-Auditing\", \"Guid\": "
                   "\"{54849625-5478-4994-a5ba-3e3b0328c30d}\"}}, \"EventID\": %u, "
                   "\"Version\": %u, \"Level\": 0, \"Task\": %u, \"Opcode\": 0, \"Keywords\": "
                   "\"%s\", \"TimeCreated\": {\"#attributes\": {\"SystemTime\": "
                   "\"%04d-%02d-%02dT%02d:%02d:%02d.%06uZ\"}}, \"EventRecordID\": %" PRIu64
                   ", \"Correlation\": null, \"Execution\": {\"#attributes\": {\"ProcessID\": "
                   "%u, \"ThreadID\": %u}}, \"Channel\": \"Security\", \"Computer\": \"%s\", "
                   "\"Security\": null}, \"EventData\": {",
                   event_id, version, task, keywords, tm.tm_year + 1900, tm.tm_mon + 1,
                   tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, us, record,
                   r->win_lsass[it->host], thread, gen_win_hosts[it->host]);
}

static void render_win(gen_render_t *r, const gen_item_t *it, parry_buf_t *out) {
  char ip[16] = "-", port[8] = "-";
  if (it->ip) {
    gen_format_ip(it->ip, ip);
    snprintf(port, sizeof port, "%u", it->port);
  }
  const char *ws = it->workstation ? it->workstation : "-";
  switch ((gen_tmpl_t)it->tmpl) {
  case T_WIN_4624: {
    uint64_t logon_id = 0x1000000ULL + gen_rng_below(&r->rng, 0x7fffffff);
    bool ntlm = it->logon_type == 3;
    win_system(r, it, 4624, 12544, "0x8020000000000000", 2, out);
    parry_buf_printf(
        out,
        "\"SubjectUserSid\": \"S-1-0-0\", \"SubjectUserName\": \"-\", \"SubjectDomainName\": "
        "\"-\", \"SubjectLogonId\": \"0x0\", \"TargetUserSid\": "
        "\"S-1-5-21-3623811015-3361044348-30300820-%u\", \"TargetUserName\": \"%s\", "
        "\"TargetDomainName\": \"%s\", \"TargetLogonId\": \"0x%" PRIx64 "\", \"LogonType\": "
        "\"%u\", \"LogonProcessName\": \"%s\", \"AuthenticationPackageName\": \"%s\", "
        "\"WorkstationName\": \"%s\", \"LogonGuid\": "
        "\"{00000000-0000-0000-0000-000000000000}\", \"TransmittedServices\": \"-\", "
        "\"LmPackageName\": \"%s\", \"KeyLength\": \"%s\", \"ProcessId\": \"0x0\", "
        "\"ProcessName\": \"-\", \"IpAddress\": \"%s\", \"IpPort\": \"%s\", "
        "\"ImpersonationLevel\": \"%%%%1833\", \"RestrictedAdminMode\": \"-\", "
        "\"TargetOutboundUserName\": \"-\", \"TargetOutboundDomainName\": \"-\", "
        "\"VirtualAccount\": \"%%%%1843\", \"TargetLinkedLogonId\": \"0x0\", "
        "\"ElevatedToken\": \"%%%%1842\"}}}",
        1100 + it->uid, it->user, GEN_WIN_DOMAIN, logon_id, it->logon_type,
        ntlm ? "NtLmSsp " : "User32 ", ntlm ? "NTLM" : "Negotiate", ws,
        ntlm ? "NTLM V2" : "-", ntlm ? "128" : "0", ip, port);
    break;
  }
  case T_WIN_4625:
    win_system(r, it, 4625, 12544, "0x8010000000000000", 0, out);
    parry_buf_printf(
        out,
        "\"SubjectUserSid\": \"S-1-0-0\", \"SubjectUserName\": \"-\", \"SubjectDomainName\": "
        "\"-\", \"SubjectLogonId\": \"0x0\", \"TargetUserSid\": \"S-1-0-0\", "
        "\"TargetUserName\": \"%s\", \"TargetDomainName\": \"%s\", \"Status\": \"0x%08x\", "
        "\"FailureReason\": \"%%%%2313\", \"SubStatus\": \"0x%08x\", \"LogonType\": \"%u\", "
        "\"LogonProcessName\": \"NtLmSsp \", \"AuthenticationPackageName\": \"NTLM\", "
        "\"WorkstationName\": \"%s\", \"TransmittedServices\": \"-\", \"LmPackageName\": "
        "\"-\", \"KeyLength\": \"0\", \"ProcessId\": \"0x0\", \"ProcessName\": \"-\", "
        "\"IpAddress\": \"%s\", \"IpPort\": \"%s\"}}}",
        it->user, GEN_WIN_DOMAIN, it->status, it->substatus, it->logon_type, ws, ip, port);
    break;
  case T_WIN_4648:
    win_system(r, it, 4648, 12544, "0x8020000000000000", 0, out);
    parry_buf_printf(
        out,
        "\"SubjectUserSid\": \"S-1-5-21-3623811015-3361044348-30300820-%u\", "
        "\"SubjectUserName\": \"%s\", \"SubjectDomainName\": \"%s\", \"SubjectLogonId\": "
        "\"0x%x\", \"LogonGuid\": \"{00000000-0000-0000-0000-000000000000}\", "
        "\"TargetUserName\": \"svc_backup\", \"TargetDomainName\": \"%s\", "
        "\"TargetLogonGuid\": \"{00000000-0000-0000-0000-000000000000}\", "
        "\"TargetServerName\": \"%s\", \"TargetInfo\": \"%s\", \"ProcessId\": \"0x%x\", "
        "\"ProcessName\": \"C:\\\\Windows\\\\System32\\\\svchost.exe\", \"IpAddress\": "
        "\"%s\", \"IpPort\": \"%s\"}}}",
        1100 + it->uid, it->user, GEN_WIN_DOMAIN, 0x3e000 + gen_rng_below(&r->rng, 0xfffff),
        GEN_WIN_DOMAIN, it->target_server, it->target_server,
        0x200 + 4 * gen_rng_below(&r->rng, 4000), ip, port);
    break;
  case T_WIN_4776:
    win_system(r, it, 4776, 14336, it->status ? "0x8010000000000000" : "0x8020000000000000", 0,
               out);
    parry_buf_printf(out,
                     "\"PackageName\": \"MICROSOFT_AUTHENTICATION_PACKAGE_V1_0\", "
                     "\"TargetUserName\": \"%s\", \"Workstation\": \"%s\", \"Status\": "
                     "\"0x%x\"}}}",
                     it->user, ws, it->status);
    break;
  default:
    break;
  }
}

void gen_render_item(gen_render_t *r, const gen_item_t *it, parry_buf_t *out) {
  if (it->tmpl >= T_WIN_4624)
    render_win(r, it, out);
  else
    render_ssh(r, it, out);
}
