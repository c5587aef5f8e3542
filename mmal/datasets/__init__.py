from .toy_shapes import (MAX_CLASSES, ToySpec, generate_toy_dataset,
                         make_toy_benchmark, prepare_toy_data, toy_class_names)

__all__ = [
    'MAX_CLASSES', 'ToySpec', 'generate_toy_dataset', 'make_toy_benchmark',
    'prepare_toy_data', 'toy_class_names'
]
