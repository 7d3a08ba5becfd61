# The daemon: sessions, dispatch and the process around the queue core.
add_library(postbox_broker STATIC
  admin_handlers.cpp
  admin_json.cpp
  batch_builder.cpp
  broker.cpp
  consumer.cpp
  consume_handler.cpp
  settle_handler.cpp
  topic_handlers.cpp
  queue_timers.cpp
  deadlines.cpp
  dispatch.cpp
  journal/crc32c.cpp
  journal/disk_space.cpp
  journal/journal.cpp
  journal/queue_record.cpp
  journal/record.cpp
  journal/recovery.cpp
  journal/segment.cpp
  journal/syncer.cpp
  listener.cpp
  logging.cpp
  receive_handler.cpp
  send_handler.cpp
  session.cpp
  systemd.cpp)
target_compile_definitions(postbox_broker PUBLIC POSTBOX_VERSION="${PROJECT_VERSION}")
target_link_libraries(postbox_broker
  PUBLIC postbox_broker_core postbox_asio nlohmann_json::nlohmann_json spdlog::spdlog
  PRIVATE postbox_warnings)

add_executable(postboxd main.cpp)
target_link_libraries(postboxd PRIVATE postbox_broker postbox_config CLI11::CLI11 postbox_warnings)
install(TARGETS postboxd RUNTIME DESTINATION sbin)
