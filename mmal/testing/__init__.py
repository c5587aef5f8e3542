"""Synthetic data for mmal's demo, tests and benchmarks: the toy shapes
dataset (COCO json + PNG images made from a seed) and toy object proposals
(a fast pixel-grouping generator)."""
from .toy_proposals import make_toy_proposals, toy_proposals
from .toy_shapes import (MAX_CLASSES, ToySpec, generate_toy_dataset,
                         make_toy_benchmark, prepare_toy_data, toy_class_names)

__all__ = [
    'MAX_CLASSES', 'ToySpec', 'generate_toy_dataset', 'make_toy_benchmark',
    'make_toy_proposals', 'prepare_toy_data', 'toy_class_names',
    'toy_proposals'
]
