package dev.unet4j.pipeline.checkpoint;

/**
 * Where a diffusers parameter lives in a single file: the stored key, and how to cut it. OpenCLIP fuses q/k/v into
 * one {@code in_proj_weight [3D, D]} ({@link Cut#ROWS}: part {@code part} of {@code parts} equal row blocks) and stores
 * {@code text_projection} as {@code [D, P]} for {@code x @ P} where transformers' Linear wants {@code [P, D]}
 * ({@link Cut#TRANSPOSE}).
 */
record TensorRef(String key, Cut cut, int part, int parts) {
    enum Cut { NONE, ROWS, TRANSPOSE }

    static TensorRef of(String key) {
        return new TensorRef(key, Cut.NONE, 0, 1);
    }

    static TensorRef rows(String key, int part, int parts) {
        return new TensorRef(key, Cut.ROWS, part, parts);
    }

    static TensorRef transposed(String key) {
        return new TensorRef(key, Cut.TRANSPOSE, 0, 1);
    }
}
