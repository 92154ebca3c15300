package dev.unet4j.server;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Reads a server-sent event stream to its end (the text/event-stream format: event:, data:, blank line). */
final class SseEvents {
    record Event(String name, JsonNode data) {
    }

    private SseEvents() {
    }

    /**
     * Submits a native {@code /v1/generate} request (202) and reads its event stream, which must end in {@code done};
     * the events, the last being {@code done}.
     */
    static List<Event> generate(ServerHarness h, String body) throws IOException, InterruptedException {
        HttpResponse<String> r = h.post("/v1/generate", body);
        assertEquals(202, r.statusCode(), r.body());
        List<Event> events = read(h, ServerHarness.json(r).get("events").asText());
        Event last = events.get(events.size() - 1);
        assertEquals("done", last.name(), last.data().toString());
        return events;
    }

    static List<Event> read(ServerHarness h, String path) throws IOException, InterruptedException {
        HttpRequest req = HttpRequest.newBuilder(h.uri(path)).timeout(Duration.ofSeconds(120)).header("Accept", "text/event-stream").GET().build();
        HttpResponse<InputStream> r = h.http.send(req, HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, r.statusCode());
        assertEquals("text/event-stream", r.headers().firstValue("content-type").orElse("").split(";")[0]);
        List<Event> events = new ArrayList<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            String name = "message";
            StringBuilder data = new StringBuilder();
            for (String line; (line = in.readLine()) != null; ) {
                if (line.isEmpty()) {
                    if (data.length() > 0) events.add(new Event(name, Fields.JSON.readTree(data.toString())));
                    name = "message";
                    data.setLength(0);
                } else if (line.startsWith("event:")) {
                    name = line.substring(6).strip();
                } else if (line.startsWith("data:")) {
                    data.append(line.substring(5).strip());
                }
            }
        }
        return events;
    }
}
