"""SMS encoding and segmentation shared by the preview and the SMPP sender."""
