package dev.unet4j.cli;

import dev.unet4j.unet.NodeInterceptor;

import java.util.Locale;
import java.util.function.Supplier;

/**
 * A {@code --cache} value: a feature-caching policy from the caching module, or {@code none}. Policies the caching
 * module does not provide are refused with "not supported yet" (exit 1), never silently run uncached.
 *
 * @param text         the spec as given
 * @param interceptors a fresh interceptor per generation, or null for {@code none}
 */
record CacheSpec(String text, Supplier<? extends NodeInterceptor> interceptors) {

    static CacheSpec parse(String spec) {
        String s = spec.strip().toLowerCase(Locale.ROOT);
        if (s.isEmpty()) throw new UserException("empty --cache spec; use none or a policy name");
        if (s.equals("none") || s.equals("off")) return new CacheSpec(spec, null);
        int colon = s.indexOf(':');
        String name = colon < 0 ? s : s.substring(0, colon);
        if (!name.matches("[a-z][a-z0-9-]*")) {
            throw new UserException("bad --cache spec '" + spec + "': expected NAME or NAME:ARGS, e.g. deepcache:3");
        }
        throw new UserException("not supported yet: --cache " + spec + " (this build's caching module provides no policies)");
    }

    boolean isNone() {
        return interceptors == null;
    }

    String label() {
        return "cache " + text;
    }
}
