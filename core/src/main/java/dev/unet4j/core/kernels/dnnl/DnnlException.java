package dev.unet4j.core.kernels.dnnl;

/** A oneDNN call returned an error status; the message names the operation and the shapes involved. */
public final class DnnlException extends RuntimeException {
    private final int status;

    DnnlException(int status, String message) {
        super(message);
        this.status = status;
    }

    /** The {@code dnnl_status_t} value. */
    public int status() {
        return status;
    }
}
