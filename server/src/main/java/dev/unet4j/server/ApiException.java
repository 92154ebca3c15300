package dev.unet4j.server;

import java.util.Map;

/**
 * A request refused with an HTTP status and a JSON error body that names the offending field ({@code param}), in
 * OpenAI's error shape: {@code {"error": {"message", "type", "param", "code"}}}.
 */
public final class ApiException extends RuntimeException {
    private final int status;
    private final String param;
    private final Map<String, String> headers;

    public ApiException(int status, String param, String message) {
        this(status, param, message, Map.of());
    }

    public ApiException(int status, String param, String message, Map<String, String> headers) {
        super(message);
        this.status = status;
        this.param = param;
        this.headers = Map.copyOf(headers);
    }

    /** 400 for field {@code param}. */
    public static ApiException badField(String param, String message) {
        return new ApiException(400, param, param + ": " + message);
    }

    public int status() {
        return status;
    }

    /** The request field at fault, or null when the whole request is. */
    public String param() {
        return param;
    }

    public Map<String, String> headers() {
        return headers;
    }

    /** OpenAI's error type for this status. */
    public String type() {
        return switch (status) {
            case 400, 404, 413 -> "invalid_request_error";
            case 401 -> "authentication_error";
            case 429 -> "rate_limit_error";
            default -> "server_error";
        };
    }
}
