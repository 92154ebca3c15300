package dev.unet4j.spark;

import java.io.Serializable;

/**
 * Identity of a model loaded on an executor: the folder and the load options that change the loaded weights or the
 * generation path (cache policy, quantization). Tasks with equal keys share one loaded model per JVM.
 *
 * @param modelPath    the model folder as given
 * @param cachePolicy  feature-cache policy text, or null for none
 * @param quantization quantization spec text, or null for as stored
 */
public record ModelKey(String modelPath, String cachePolicy, String quantization) implements Serializable {
}
