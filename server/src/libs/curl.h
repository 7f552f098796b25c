// libcurl, loaded on first use: see libs/loader.h. Include this instead of the library's header.
#pragma once

#include <curl/curl.h>

#include "libs/loader.h"

// Every function of the library this program calls.
#define STUDYHUB_CURL_FUNCTIONS(X) \
  X(curl_easy_cleanup) \
  X(curl_easy_getinfo) \
  X(curl_easy_init) \
  X(curl_easy_perform) \
  X(curl_easy_setopt) \
  X(curl_easy_strerror) \
  X(curl_free) \
  X(curl_global_init) \
  X(curl_multi_add_handle) \
  X(curl_multi_cleanup) \
  X(curl_multi_info_read) \
  X(curl_multi_init) \
  X(curl_multi_perform) \
  X(curl_multi_poll) \
  X(curl_multi_remove_handle) \
  X(curl_slist_append) \
  X(curl_slist_free_all) \
  X(curl_url) \
  X(curl_url_cleanup) \
  X(curl_url_get) \
  X(curl_url_set)

namespace studyhub::libs {

struct Curl {
  STUDYHUB_CURL_FUNCTIONS(STUDYHUB_LIBS_MEMBER)
};

const Curl& curl();  // loads the library the first time

}  // namespace studyhub::libs

// From here on each name is a call through the table (names the library's header made macros,
// as libcurl does to check argument counts, are replaced).
#ifndef STUDYHUB_LIBS_TABLE_ONLY
#undef curl_easy_cleanup
#define curl_easy_cleanup (::studyhub::libs::curl().curl_easy_cleanup)
#undef curl_easy_getinfo
#define curl_easy_getinfo (::studyhub::libs::curl().curl_easy_getinfo)
#undef curl_easy_init
#define curl_easy_init (::studyhub::libs::curl().curl_easy_init)
#undef curl_easy_perform
#define curl_easy_perform (::studyhub::libs::curl().curl_easy_perform)
#undef curl_easy_setopt
#define curl_easy_setopt (::studyhub::libs::curl().curl_easy_setopt)
#undef curl_easy_strerror
#define curl_easy_strerror (::studyhub::libs::curl().curl_easy_strerror)
#undef curl_free
#define curl_free (::studyhub::libs::curl().curl_free)
#undef curl_global_init
#define curl_global_init (::studyhub::libs::curl().curl_global_init)
#undef curl_multi_add_handle
#define curl_multi_add_handle (::studyhub::libs::curl().curl_multi_add_handle)
#undef curl_multi_cleanup
#define curl_multi_cleanup (::studyhub::libs::curl().curl_multi_cleanup)
#undef curl_multi_info_read
#define curl_multi_info_read (::studyhub::libs::curl().curl_multi_info_read)
#undef curl_multi_init
#define curl_multi_init (::studyhub::libs::curl().curl_multi_init)
#undef curl_multi_perform
#define curl_multi_perform (::studyhub::libs::curl().curl_multi_perform)
#undef curl_multi_poll
#define curl_multi_poll (::studyhub::libs::curl().curl_multi_poll)
#undef curl_multi_remove_handle
#define curl_multi_remove_handle (::studyhub::libs::curl().curl_multi_remove_handle)
#undef curl_slist_append
#define curl_slist_append (::studyhub::libs::curl().curl_slist_append)
#undef curl_slist_free_all
#define curl_slist_free_all (::studyhub::libs::curl().curl_slist_free_all)
#undef curl_url
#define curl_url (::studyhub::libs::curl().curl_url)
#undef curl_url_cleanup
#define curl_url_cleanup (::studyhub::libs::curl().curl_url_cleanup)
#undef curl_url_get
#define curl_url_get (::studyhub::libs::curl().curl_url_get)
#undef curl_url_set
#define curl_url_set (::studyhub::libs::curl().curl_url_set)
#endif  // STUDYHUB_LIBS_TABLE_ONLY
