// Starts DynamoDB Local listening on 127.0.0.1 only (DESIGN.md §6: the local stack
// stays on loopback). The jar has no option for the address: its Jetty server gets
// one connector on every interface. This launcher builds the server with the jar's
// own command-line parser (the same options as `java -jar DynamoDBLocal.jar`), sets
// that connector's host, and starts it. scripts/stack/dynamodb.sh compiles it once
// into .local/dynamodb/launcher/.
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public final class LoopbackDynamoDBLocal {
    private LoopbackDynamoDBLocal() {}

    public static void main(String[] args) throws Exception {
        String host = System.getProperty("dynamodb.local.host", "127.0.0.1");
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        Field field = DynamoDBProxyServer.class.getDeclaredField("server");
        field.setAccessible(true);
        Server server = (Server) field.get(proxy);
        int restricted = 0;
        for (Connector connector : server.getConnectors()) {
            if (connector instanceof ServerConnector serverConnector) {
                serverConnector.setHost(host);
                restricted++;
            }
        }
        if (restricted == 0) {
            // Refuse rather than listen on every interface unnoticed.
            throw new IllegalStateException("DynamoDB Local has no ServerConnector to bind to " + host);
        }
        // Jetty's threads keep the JVM alive after main returns, as with the jar's own main.
        proxy.start();
    }
}
