#ifndef CCURL_HTTP_H
#define CCURL_HTTP_H

#include <stddef.h>

/// A flag another thread sets to abort a request under way.
typedef struct ccurl_cancel ccurl_cancel;

ccurl_cancel *ccurl_cancel_new(void);
void ccurl_cancel_set(ccurl_cancel *flag);
void ccurl_cancel_free(ccurl_cancel *flag);

/// One request's answer: the status, the body (malloc'd; NULL when streamed to a file) and,
/// on a transport failure, libcurl's code and message.
typedef struct {
    long status;
    unsigned char *body;
    size_t body_length;
    int curl_code;
    char error[256];
} ccurl_response;

/// Performs one HTTP(S) request and blocks until it ends.
/// - ca_file: the only certificate authorities trusted (PEM); NULL trusts the system's.
/// - sink_path: write the body to this file instead of memory (created 0600); NULL keeps it.
/// Returns 0 when an HTTP answer arrived (any status), else libcurl's code (also in response->curl_code).
int ccurl_perform(
    const char *method, const char *url, const char *const *headers, size_t header_count,
    const void *body, size_t body_length, const char *ca_file, long timeout_ms,
    const char *sink_path, ccurl_cancel *cancel, ccurl_response *response);

void ccurl_response_free(ccurl_response *response);

#endif
