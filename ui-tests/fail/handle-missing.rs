use socketserver::server;

#[server]
struct Quiet;

fn main() {}
