/**
 * MK-UNet ({@code MK_UNet} of SLDGroup/MK-UNet, {@code mkunet_network.py}): multi-kernel depth-wise inverted residual
 * blocks, grouped attention gates, channel and spatial attention, eval-mode BatchNorm throughout.
 */
package dev.unet4j.zoo.mkunet;
