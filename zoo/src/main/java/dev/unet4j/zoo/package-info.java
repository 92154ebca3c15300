/**
 * The non-diffusion UNets of the seed papers on unet4j's graph and kernel seams: nnU-Net's UNet++
 * ({@code Generic_UNetPlusPlus}), MK-UNet and DDoS-UNet's 3-D UNet. Each is built from its official constructor
 * arguments ({@code config.json}) and official state-dict names ({@code model.safetensors}) as named
 * {@link dev.unet4j.unet.nn.Node}s, so interceptors, captures and the quantizing layer factories reach them as they
 * reach the diffusion UNets. Entry point: {@link dev.unet4j.zoo.ZooModel#load}.
 */
package dev.unet4j.zoo;
