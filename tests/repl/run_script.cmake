# Runs nnjit-repl in batch mode on a script and compares stdout, stderr and the exit status
# with the expected files written by hand next to it (NAME.out, NAME.err; status 1 when
# NAME.err is not empty, else 0).
#   cmake -DREPL=... -DSCRIPT=dir/NAME.nnj -DBACKEND=interp|jit -DWORK=dir -P run_script.cmake
# The script's first line is a placeholder: for BACKEND=interp it becomes `:backend interp`;
# for jit it stays a comment, so the default engine (the JIT) runs it, and while the JIT is not
# built the test reports itself skipped. @DIR@ in the files is WORK, @FILE@ the script run.
get_filename_component(name "${SCRIPT}" NAME_WE)
get_filename_component(dir "${SCRIPT}" DIRECTORY)
file(MAKE_DIRECTORY "${WORK}")
set(run "${WORK}/${name}.${BACKEND}.nnj")

file(READ "${SCRIPT}" text)
if(BACKEND STREQUAL "interp")
  string(REGEX REPLACE "^# BACKEND[^\n]*" ":backend interp" text "${text}")
endif()
string(REPLACE "@DIR@" "${WORK}" text "${text}")
file(WRITE "${run}" "${text}")

execute_process(COMMAND "${REPL}" "${run}" OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc
                TIMEOUT 60)
if(BACKEND STREQUAL "jit" AND err MATCHES "the JIT backend is not built yet")
  message("SKIPPED: the JIT backend is not built yet")
  return()
endif()

file(READ "${dir}/${name}.out" want_out)
file(READ "${dir}/${name}.err" want_err)
foreach(v want_out want_err)
  string(REPLACE "@DIR@" "${WORK}" ${v} "${${v}}")
  string(REPLACE "@FILE@" "${run}" ${v} "${${v}}")
endforeach()
set(want_rc 0)
if(NOT want_err STREQUAL "")
  set(want_rc 1)
endif()

set(failed FALSE)
if(NOT out STREQUAL want_out)
  message("stdout differs.\n--- expected\n${want_out}--- got\n${out}---")
  set(failed TRUE)
endif()
if(NOT err STREQUAL want_err)
  message("stderr differs.\n--- expected\n${want_err}--- got\n${err}---")
  set(failed TRUE)
endif()
if(NOT rc STREQUAL want_rc)
  message("exit status ${rc}, expected ${want_rc}")
  set(failed TRUE)
endif()
if(failed)
  message(FATAL_ERROR "${name} (${BACKEND}) failed")
endif()
