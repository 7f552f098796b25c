// The requests a static connection does not answer itself: the hub's API routes (bodies of any
// size, answers streamed from other threads) and methods other than GET and HEAD. Beast reads and
// writes them; once one is answered the connection goes back to the static path.
#pragma once

#include <utility>  // before Asio: Boost 1.74's Asio needs std::exchange declared under C++20
#include <boost/asio/ip/tcp.hpp>
#include <string_view>

namespace studyhub::host {

class Worker;

// Takes over `socket` on `worker`'s thread; `buffered` holds the request's bytes read so far.
void serve_api(Worker& worker, boost::asio::ip::tcp::socket socket, std::string_view buffered);

}  // namespace studyhub::host
