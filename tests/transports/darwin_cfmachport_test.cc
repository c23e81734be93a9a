// Filled in by the transport it tests.
