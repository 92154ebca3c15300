package dev.unet4j.cli;

/** Bad input the user can fix (file, tensor, option value): printed as is, exit code 1. */
final class UserException extends RuntimeException {
    UserException(String message) {
        super(message);
    }

    UserException(String message, Throwable cause) {
        super(message, cause);
    }
}
