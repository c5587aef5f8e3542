"""The selection algorithms and per-image scores the strategies are built
from, as plain functions (as ``mmdet.evaluation.functional`` holds the
metrics): a new strategy composes them instead of importing from a sibling
strategy's file."""
from .box_in_box import box_in_box_pairs
from .ccms import ccms_distances
from .contextual_diversity import (ClassMixtures, class_mixtures,
                                   nearest_mixture_distances)
from .divergence import js_divergence, softmax
from .divproto_walk import PickedPrototypes, divproto_walk, minority_quotas
from .enms import class_prototypes, enms, unit_rows
from .entropy import binary_entropy, distribution_entropy
from .k_center import greedy_k_center, nearest_center_distances
from .k_center_by_distance import greedy_k_center_by
from .k_center_pruned import greedy_k_center_pruned
from .k_centroid import farthest_first, k_centroid
from .kmeanspp import kmeanspp_images
from .kmeanspp_pruned import kmeanspp_images_pruned
from .top_k import rank_order, top_k

__all__ = [
    'ClassMixtures', 'class_mixtures', 'nearest_mixture_distances',
    'js_divergence', 'softmax', 'greedy_k_center_by', 'box_in_box_pairs',
    'PickedPrototypes', 'divproto_walk', 'minority_quotas', 'class_prototypes',
    'enms', 'unit_rows', 'binary_entropy', 'distribution_entropy',
    'greedy_k_center', 'nearest_center_distances', 'kmeanspp_images',
    'rank_order', 'top_k', 'ccms_distances', 'farthest_first', 'k_centroid',
    'greedy_k_center_pruned', 'kmeanspp_images_pruned'
]
