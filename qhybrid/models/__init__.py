"""Classical blocks, the HybridNet composition and the generation builders."""
