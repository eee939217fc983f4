"""Drawing boxes and masks on images, and image galleries: Keras 3.15's ``keras.visualization``
(docs/visualization.md).

``draw_bounding_boxes`` needs OpenCV (``cv2``) and the ``plot_*`` galleries matplotlib; both are optional and
imported on first use, so ``import lamina`` imports neither. ``draw_segmentation_masks`` needs only NumPy.
"""

from lamina.visualization._bounding_boxes import draw_bounding_boxes as draw_bounding_boxes
from lamina.visualization._bounding_boxes import plot_bounding_box_gallery as plot_bounding_box_gallery
from lamina.visualization._image_gallery import plot_image_gallery as plot_image_gallery
from lamina.visualization._segmentation_masks import draw_segmentation_masks as draw_segmentation_masks
from lamina.visualization._segmentation_masks import plot_segmentation_mask_gallery as plot_segmentation_mask_gallery

__all__ = ["draw_bounding_boxes", "draw_segmentation_masks", "plot_bounding_box_gallery", "plot_image_gallery",
           "plot_segmentation_mask_gallery"]
