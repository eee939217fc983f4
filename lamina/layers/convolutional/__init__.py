"""Convolution layers and their spatial companions (cropping, up-sampling, zero-padding)."""

from lamina.layers.convolutional.conv import Conv1D, Conv2D, Conv3D, Convolution1D, Convolution2D, Convolution3D
from lamina.layers.convolutional.conv_transpose import (Conv1DTranspose, Conv2DTranspose, Conv3DTranspose,
                                                        Convolution1DTranspose, Convolution2DTranspose,
                                                        Convolution3DTranspose)
from lamina.layers.convolutional.cropping import Cropping1D, Cropping2D, Cropping3D
from lamina.layers.convolutional.depthwise_conv import DepthwiseConv1D, DepthwiseConv2D
from lamina.layers.convolutional.locally_connected import LocallyConnected1D, LocallyConnected2D
from lamina.layers.convolutional.padding_report import AxisPadding, PaddingReport
from lamina.layers.convolutional.separable_conv import (SeparableConv1D, SeparableConv2D, SeparableConvolution1D,
                                                        SeparableConvolution2D)
from lamina.layers.convolutional.up_sampling import UpSampling1D, UpSampling2D, UpSampling3D
from lamina.layers.convolutional.zero_padding import ZeroPadding1D, ZeroPadding2D, ZeroPadding3D

__all__ = ["Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
           "SeparableConv1D", "SeparableConv2D", "DepthwiseConv1D", "DepthwiseConv2D", "LocallyConnected1D",
           "LocallyConnected2D", "Cropping1D", "Cropping2D", "Cropping3D", "UpSampling1D", "UpSampling2D",
           "UpSampling3D", "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D", "PaddingReport", "AxisPadding",
           "Convolution1D", "Convolution2D", "Convolution3D", "Convolution1DTranspose", "Convolution2DTranspose",
           "Convolution3DTranspose", "SeparableConvolution1D", "SeparableConvolution2D"]
