#include "ccurl_http.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct ccurl_cancel {
    atomic_int cancelled;
};

ccurl_cancel *ccurl_cancel_new(void) {
    ccurl_cancel *flag = calloc(1, sizeof(ccurl_cancel));
    if (flag) atomic_init(&flag->cancelled, 0);
    return flag;
}

void ccurl_cancel_set(ccurl_cancel *flag) {
    if (flag) atomic_store(&flag->cancelled, 1);
}

void ccurl_cancel_free(ccurl_cancel *flag) { free(flag); }

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static void global_init(void) { curl_global_init(CURL_GLOBAL_ALL); }

typedef struct {
    ccurl_response *response;
    size_t capacity;
    int fd;
    int failed;
} sink;

static size_t on_data(char *data, size_t size, size_t count, void *context) {
    sink *target = context;
    size_t length = size * count;
    if (target->fd >= 0) {
        size_t written = 0;
        while (written < length) {
            ssize_t n = write(target->fd, data + written, length - written);
            if (n <= 0) {
                target->failed = 1;
                return 0;
            }
            written += (size_t)n;
        }
        return length;
    }
    ccurl_response *response = target->response;
    if (response->body_length + length > target->capacity) {
        size_t capacity = target->capacity ? target->capacity : 16384;
        while (capacity < response->body_length + length) capacity *= 2;
        unsigned char *grown = realloc(response->body, capacity);
        if (!grown) {
            target->failed = 1;
            return 0;
        }
        response->body = grown;
        target->capacity = capacity;
    }
    memcpy(response->body + response->body_length, data, length);
    response->body_length += length;
    return length;
}

static int on_progress(void *context, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d) {
    (void)a, (void)b, (void)c, (void)d;
    ccurl_cancel *flag = context;
    return flag && atomic_load(&flag->cancelled) ? 1 : 0;
}

int ccurl_perform(
    const char *method, const char *url, const char *const *headers, size_t header_count,
    const void *body, size_t body_length, const char *ca_file, long timeout_ms,
    const char *sink_path, ccurl_cancel *cancel, ccurl_response *response) {
    memset(response, 0, sizeof(*response));
    pthread_once(&global_once, global_init);
    CURL *handle = curl_easy_init();
    if (!handle) {
        response->curl_code = CURLE_FAILED_INIT;
        snprintf(response->error, sizeof(response->error), "cannot start an HTTP request");
        return response->curl_code;
    }
    sink target = {.response = response, .capacity = 0, .fd = -1, .failed = 0};
    if (sink_path) {
        target.fd = open(sink_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (target.fd < 0) {
            curl_easy_cleanup(handle);
            response->curl_code = CURLE_WRITE_ERROR;
            snprintf(response->error, sizeof(response->error), "cannot write %s", sink_path);
            return response->curl_code;
        }
    }
    struct curl_slist *list = curl_slist_append(NULL, "Expect:");
    for (size_t i = 0; i < header_count; i++) list = curl_slist_append(list, headers[i]);

    curl_easy_setopt(handle, CURLOPT_URL, url);
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(handle, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, &target);
    curl_easy_setopt(handle, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(handle, CURLOPT_XFERINFODATA, cancel);
    curl_easy_setopt(handle, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(handle, CURLOPT_SSL_VERIFYHOST, 2L);
    if (ca_file) {
        // Only this file's authorities: the system's directory of certificates is not consulted.
        curl_easy_setopt(handle, CURLOPT_CAINFO, ca_file);
        curl_easy_setopt(handle, CURLOPT_CAPATH, (char *)NULL);
    }
    if (strcmp(method, "GET") != 0) {
        if (strcmp(method, "POST") != 0) curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, method);
        if (body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0) {
            curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_length);
            curl_easy_setopt(handle, CURLOPT_POSTFIELDS, body ? body : "");
        }
    }
    char error[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error);

    CURLcode code = curl_easy_perform(handle);
    if (code == CURLE_OK) {
        curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &response->status);
    } else {
        response->curl_code = (int)code;
        snprintf(response->error, sizeof(response->error), "%s", error[0] ? error : curl_easy_strerror(code));
    }
    if (target.fd >= 0) close(target.fd);
    curl_slist_free_all(list);
    curl_easy_cleanup(handle);
    return response->curl_code;
}

void ccurl_response_free(ccurl_response *response) {
    free(response->body);
    response->body = NULL;
    response->body_length = 0;
}
