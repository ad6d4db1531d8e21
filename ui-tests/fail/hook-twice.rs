//! The same hook replaced twice, in two `impl` blocks.

use socketserver::{StreamRequest, handle, hook, server};
use std::io;

#[server]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }

    #[hook]
    fn service_actions(&self) {}
}

mod more {
    use socketserver::hook;

    impl super::Echo {
        #[hook]
        fn service_actions(&self) {}
    }
}

fn main() {}
