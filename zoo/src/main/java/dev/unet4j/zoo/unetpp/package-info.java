/**
 * UNet++ as its official PyTorch code builds it: nnU-Net's {@code Generic_UNetPlusPlus}
 * (MrGiovanni/UNetPlusPlus, {@code pytorch/nnunet/network_architecture/generic_UNetPlusPlus.py}) with nested, dense
 * skip nodes {@code x_i_j}, deep-supervision heads and pruned inference depths.
 */
package dev.unet4j.zoo.unetpp;
