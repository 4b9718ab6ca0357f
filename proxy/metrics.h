/* proxy/metrics.h — process-wide Prometheus metrics, thread-safe (C11 atomics;
 * a mutex only guards the bounded rule-label table). */
#ifndef PX_METRICS_H
#define PX_METRICS_H

#include <stdint.h>

/* Distinct rule label values kept; further rule ids are counted as "other". */
#define PX_METRICS_MAX_RULES 4096

/* Resets every counter to zero and marks the process up. Call once before threads start. */
void px_metrics_init(void);
void px_metrics_request(const char *verdict /* "allow"|"deny"|"error" */, const char *rule_id,
                        double seconds, uint64_t bytes_in, uint64_t bytes_out);
void px_metrics_conn(int delta);          /* active downstream connections +1/-1 */
void px_metrics_upstream_conn(int delta); /* open upstream connections */
void px_metrics_policy_version(uint64_t v);
/* A decision-log line could not be written (sovgw_decision_log_lost_total). */
void px_metrics_declog_lost(void);
void px_metrics_decision_cache(int hit); /* one policy decision: cached or looked up */
/* Renders Prometheus text exposition format (HELP/TYPE lines): sovgw_requests_total{verdict,rule},
 * sovgw_request_duration_seconds histogram, sovgw_bytes_in_total, sovgw_bytes_out_total,
 * sovgw_active_connections, sovgw_upstream_connections, sovgw_policy_version, sovgw_up,
 * sovgw_decision_log_lost_total.
 * Returns a malloc'd NUL-terminated string (caller frees) or NULL. */
char *px_metrics_render(void);

#endif
