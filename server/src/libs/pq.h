// PostgreSQL's client library (libpq), loaded on first use: see libs/loader.h. Include this instead of the library's header.
#pragma once

#include <libpq-fe.h>

#include "libs/loader.h"

// Every function of the library this program calls.
#define STUDYHUB_PQ_FUNCTIONS(X) \
  X(PQclear) \
  X(PQcmdTuples) \
  X(PQconnectdbParams) \
  X(PQconsumeInput) \
  X(PQerrorMessage) \
  X(PQexec) \
  X(PQexecParams) \
  X(PQfinish) \
  X(PQfreemem) \
  X(PQgetisnull) \
  X(PQgetlength) \
  X(PQgetvalue) \
  X(PQnotifies) \
  X(PQntuples) \
  X(PQresultErrorField) \
  X(PQresultErrorMessage) \
  X(PQresultStatus) \
  X(PQsetNoticeProcessor) \
  X(PQsocket) \
  X(PQstatus)

namespace studyhub::libs {

struct Pq {
  STUDYHUB_PQ_FUNCTIONS(STUDYHUB_LIBS_MEMBER)
};

const Pq& pq();  // loads the library the first time

}  // namespace studyhub::libs

// From here on each name is a call through the table (names the library's header made macros,
// as libcurl does to check argument counts, are replaced).
#ifndef STUDYHUB_LIBS_TABLE_ONLY
#undef PQclear
#define PQclear (::studyhub::libs::pq().PQclear)
#undef PQcmdTuples
#define PQcmdTuples (::studyhub::libs::pq().PQcmdTuples)
#undef PQconnectdbParams
#define PQconnectdbParams (::studyhub::libs::pq().PQconnectdbParams)
#undef PQconsumeInput
#define PQconsumeInput (::studyhub::libs::pq().PQconsumeInput)
#undef PQerrorMessage
#define PQerrorMessage (::studyhub::libs::pq().PQerrorMessage)
#undef PQexec
#define PQexec (::studyhub::libs::pq().PQexec)
#undef PQexecParams
#define PQexecParams (::studyhub::libs::pq().PQexecParams)
#undef PQfinish
#define PQfinish (::studyhub::libs::pq().PQfinish)
#undef PQfreemem
#define PQfreemem (::studyhub::libs::pq().PQfreemem)
#undef PQgetisnull
#define PQgetisnull (::studyhub::libs::pq().PQgetisnull)
#undef PQgetlength
#define PQgetlength (::studyhub::libs::pq().PQgetlength)
#undef PQgetvalue
#define PQgetvalue (::studyhub::libs::pq().PQgetvalue)
#undef PQnotifies
#define PQnotifies (::studyhub::libs::pq().PQnotifies)
#undef PQntuples
#define PQntuples (::studyhub::libs::pq().PQntuples)
#undef PQresultErrorField
#define PQresultErrorField (::studyhub::libs::pq().PQresultErrorField)
#undef PQresultErrorMessage
#define PQresultErrorMessage (::studyhub::libs::pq().PQresultErrorMessage)
#undef PQresultStatus
#define PQresultStatus (::studyhub::libs::pq().PQresultStatus)
#undef PQsetNoticeProcessor
#define PQsetNoticeProcessor (::studyhub::libs::pq().PQsetNoticeProcessor)
#undef PQsocket
#define PQsocket (::studyhub::libs::pq().PQsocket)
#undef PQstatus
#define PQstatus (::studyhub::libs::pq().PQstatus)
#endif  // STUDYHUB_LIBS_TABLE_ONLY
