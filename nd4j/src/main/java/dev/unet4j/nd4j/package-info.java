/**
 * ND4J interop: {@link dev.unet4j.nd4j.Nd4jTensors} turns an {@code INDArray} into a unet4j
 * {@link dev.unet4j.core.tensor.Tensor} and back, sharing native memory where the data type allows (float32 on
 * ND4J's CPU backend) and copying otherwise. Optional: no other unet4j module depends on ND4J.
 */
package dev.unet4j.nd4j;
