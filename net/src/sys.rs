//! The epoll, eventfd and socket syscalls shared by the client driver and the server.
