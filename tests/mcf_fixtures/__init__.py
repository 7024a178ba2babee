"""Test material shared by the whole suite (not tests themselves): tiny models and configs, reference
re-implementations of foreign ViTs, hostile checkpoints, dataset fixtures in the original file formats."""
