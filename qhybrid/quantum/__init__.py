"""Circuit descriptions and the executors that run them."""
