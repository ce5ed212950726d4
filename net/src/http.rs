//! HTTP/1.1 wire primitives shared by the client and the server.
