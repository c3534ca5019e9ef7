// pgjdbc through apibouncer in transaction pooling, with server-side prepared statements from
// the first use (prepareThreshold=1). Run as a source file:
//   java -cp /usr/share/java/postgresql.jar JdbcPrepared.java JDBC_URL CLIENTS
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;

public class JdbcPrepared {
  static void client(String url, int index) throws Exception {
    try (Connection conn = DriverManager.getConnection(url)) {
      try (PreparedStatement add = conn.prepareStatement("SELECT ?::int + ?::int")) {
        for (int n = 0; n < 40; n++) {
          add.setInt(1, n);
          add.setInt(2, index);
          try (ResultSet rs = add.executeQuery()) {
            rs.next();
            if (rs.getInt(1) != n + index) throw new IllegalStateException("wrong sum " + n);
          }
        }
      }
      conn.setAutoCommit(false);
      try (PreparedStatement create = conn.prepareStatement(
               "CREATE TEMP TABLE scratch (x int) ON COMMIT DROP");
           PreparedStatement insert = conn.prepareStatement("INSERT INTO scratch VALUES (?)");
           PreparedStatement sum = conn.prepareStatement("SELECT sum(x) FROM scratch")) {
        create.execute();
        for (int i = 0; i < 10; i++) {
          insert.setInt(1, i);
          insert.addBatch();
        }
        insert.executeBatch();
        try (ResultSet rs = sum.executeQuery()) {
          rs.next();
          if (rs.getInt(1) != 45) throw new IllegalStateException("wrong total");
        }
      }
      conn.commit();
    }
  }

  public static void main(String[] args) throws Exception {
    String url = args[0];
    int clients = Integer.parseInt(args[1]);
    List<Thread> threads = new ArrayList<>();
    List<Exception> errors = new ArrayList<>();
    for (int i = 0; i < clients; i++) {
      final int index = i;
      Thread thread = new Thread(() -> {
        try {
          client(url, index);
        } catch (Exception e) {
          synchronized (errors) {
            errors.add(e);
          }
        }
      });
      threads.add(thread);
      thread.start();
    }
    for (Thread thread : threads) thread.join();
    if (!errors.isEmpty()) {
      for (Exception e : errors) e.printStackTrace();
      System.exit(1);
    }
    System.out.println("ok");
  }
}
