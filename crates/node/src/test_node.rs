//! test node
#[derive(Debug)]
pub struct TestNode;
