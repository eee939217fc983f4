"""Pooling layers: windowed, adaptive and global max/average pooling, 1D to 3D, with Keras's aliases."""

from lamina.layers.pooling.adaptive_pooling import (AdaptiveAveragePooling1D, AdaptiveAveragePooling2D,
                                                    AdaptiveAveragePooling3D, AdaptiveMaxPooling1D,
                                                    AdaptiveMaxPooling2D, AdaptiveMaxPooling3D)
from lamina.layers.pooling.average_pooling import AveragePooling1D, AveragePooling2D, AveragePooling3D
from lamina.layers.pooling.global_pooling import (GlobalAveragePooling1D, GlobalAveragePooling2D,
                                                  GlobalAveragePooling3D, GlobalMaxPooling1D, GlobalMaxPooling2D,
                                                  GlobalMaxPooling3D)
from lamina.layers.pooling.max_pooling import MaxPooling1D, MaxPooling2D, MaxPooling3D
from lamina.registry import register_builtin

# Keras's short aliases: the same classes, also resolvable by these names in configs.
MaxPool1D, MaxPool2D, MaxPool3D = MaxPooling1D, MaxPooling2D, MaxPooling3D
AvgPool1D, AvgPool2D, AvgPool3D = AveragePooling1D, AveragePooling2D, AveragePooling3D
GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D = GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D
GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D = (GlobalAveragePooling1D, GlobalAveragePooling2D,
                                                     GlobalAveragePooling3D)

_ALIASES = {
    "MaxPool1D": MaxPool1D, "MaxPool2D": MaxPool2D, "MaxPool3D": MaxPool3D,
    "AvgPool1D": AvgPool1D, "AvgPool2D": AvgPool2D, "AvgPool3D": AvgPool3D,
    "GlobalMaxPool1D": GlobalMaxPool1D, "GlobalMaxPool2D": GlobalMaxPool2D, "GlobalMaxPool3D": GlobalMaxPool3D,
    "GlobalAvgPool1D": GlobalAvgPool1D, "GlobalAvgPool2D": GlobalAvgPool2D, "GlobalAvgPool3D": GlobalAvgPool3D,
}
for _alias, _cls in _ALIASES.items():
    register_builtin("keras.layers", name=_alias)(_cls)

__all__ = [
    "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D", "AveragePooling3D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
    *_ALIASES,
    "AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D",
    "AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D",
]
