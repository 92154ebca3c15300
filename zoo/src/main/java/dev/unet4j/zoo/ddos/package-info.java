/**
 * DDoS-UNet's 3-D UNet ({@code models/unet3D.py} of soumickmj/DDoS): dual-channel input (prior, current low-resolution
 * volume), average pooling, trilinear up-sampling resized to each skip, and the step-wise prior of the paper.
 */
package dev.unet4j.zoo.ddos;
