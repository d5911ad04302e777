"""tf.data.csv from temporary files and from a local HTTP server: headers, label columns,
dtypes, missing values, delimiters, and the errors."""
import asyncio
import functools
import http.server
import math
import threading

import numpy as np
import pytest

import kiln as tf
from kiln.frontend.data import sources


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def write(tmp_path):
    def make(text, name="data.csv"):
        path = tmp_path / name
        path.write_bytes(text.encode("utf-8"))
        return str(path)
    return make


def test_header_numbers_and_strings(write):
    path = write("a,b,name\n1,2.5,x\n-3,1e2,y z\n")
    ds = tf.data.csv(path)
    assert ds.size is None
    assert run(ds.columnNames()) == ["a", "b", "name"]
    assert run(ds.toArray()) == [{"a": 1.0, "b": 2.5, "name": "x"},
                                 {"a": -3.0, "b": 100.0, "name": "y z"}]
    assert run(tf.data.csv("file://" + path).toArray()) == run(ds.toArray())


def test_label_column_makes_xs_ys_and_batches_to_tensors(write):
    path = write("f1,f2,target\n1,2,0\n3,4,1\n5,6,1\n")
    ds = tf.data.csv(path, {"columnConfigs": {"target": {"isLabel": True}}})
    rows = run(ds.toArray())
    assert rows[0] == {"xs": {"f1": 1.0, "f2": 2.0}, "ys": {"target": 0.0}}
    flat = ds.map(lambda e: {"xs": list(e["xs"].values()), "ys": list(e["ys"].values())})
    batches = run(flat.batch(2).toArray())
    assert batches[0]["xs"].shape == [2, 2] and batches[0]["xs"].arraySync() == [[1, 2], [3, 4]]
    assert batches[0]["ys"].arraySync() == [[0], [1]] and batches[1]["ys"].shape == [1, 1]


def test_dtypes_int32_bool_and_float32(write):
    path = write("i,b,f\n3.7,true,1\n-2.2,0,2\nx,TRUE,3\n")
    ds = tf.data.csv(path, columnConfigs={"i": {"dtype": "int32"}, "b": {"dtype": "bool"},
                                          "f": {"dtype": "float32"}})
    rows = run(ds.toArray())
    assert rows[0] == {"i": 3, "b": True, "f": 1.0} and isinstance(rows[0]["i"], np.int32)
    assert rows[1] == {"i": -3, "b": False, "f": 2.0}
    assert rows[2]["i"] == "x" and rows[2]["b"] is True      # non-numbers stay strings
    (batch,) = run(ds.take(2).batch(2).toArray())
    assert batch["i"].dtype == "int32" and batch["i"].arraySync() == [3, -3]
    assert batch["b"].dtype == "bool" and batch["b"].arraySync() == [True, False]
    assert batch["f"].dtype == "float32"


def test_missing_values_defaults_and_required(write):
    path = write("a,b,c\n1,,3\n,5,\n")
    rows = run(tf.data.csv(path, {"columnConfigs": {"c": {"default": -1}}}).toArray())
    assert rows == [{"a": 1.0, "b": None, "c": 3.0}, {"a": None, "b": 5.0, "c": -1}]
    required = tf.data.csv(path, {"columnConfigs": {"a": {"required": True}}})
    with pytest.raises(ValueError, match=r"csv: required column 'a' is empty in row 2 \(line 3 "
                                         r"of .*data.csv\): ',5,'"):
        run(required.toArray())
    label = tf.data.csv(path, {"columnConfigs": {"b": {"isLabel": True}}})
    with pytest.raises(ValueError, match="required column 'b' is empty in row 1"):
        run(label.toArray())


def test_delimiters(write):
    assert run(tf.data.csv(write("a\tb\n1\t2\n"), {"delimiter": "\t"}).toArray()) == \
        [{"a": 1.0, "b": 2.0}]
    assert run(tf.data.csv(write("a  b\n 1   2\n"), {"delimWhitespace": True}).toArray()) == \
        [{"a": 1.0, "b": 2.0}]
    quoted = write('a;b\n"x;y";"say ""hi"""\n')
    assert run(tf.data.csv(quoted, {"delimiter": ";"}).toArray()) == \
        [{"a": "x;y", "b": 'say ""hi""'}]                   # TF.js keeps doubled quotes


def test_no_header_column_names_and_configured_columns_only(write):
    path = write("1,2,3\n4,5,6\n")
    ds = tf.data.csv(path, {"hasHeader": False, "columnNames": ["x", "y", "z"],
                            "columnConfigs": {"z": {"isLabel": True}, "x": {}},
                            "configuredColumnsOnly": True})
    assert run(ds.columnNames()) == ["z", "x"]
    assert run(ds.toArray()) == [{"xs": {"x": 1.0}, "ys": {"z": 3.0}},
                                 {"xs": {"x": 4.0}, "ys": {"z": 6.0}}]


def test_crlf_bom_and_lines_split_across_read_chunks(write, monkeypatch):
    monkeypatch.setattr(sources, "CHUNK_BYTES", 3)
    path = write("\ufeffname,v\r\nnaïve,1\r\n日本,2\r\n")
    assert run(tf.data.csv(path).toArray()) == [{"name": "naïve", "v": 1.0},
                                                {"name": "日本", "v": 2.0}]


def test_missing_required_column_and_other_config_errors(write):
    path = write("a,b\n1,2\n")
    bad_key = tf.data.csv(path, {"columnConfigs": {"label": {"isLabel": True}}})
    with pytest.raises(ValueError, match=r"the key 'label' provided in columnConfigs does not "
                                         r"match any of the column names \(a, b\)"):
        run(bad_key.toArray())
    with pytest.raises(ValueError, match=r"unknown option 'has_header'; did you mean "
                                         r"'hasHeader'\?"):
        tf.data.csv(path, {"has_header": False})
    with pytest.raises(ValueError, match=r"unknown option 'islabel' in columnConfigs\['a'\]; "
                                         r"did you mean 'isLabel'\?"):
        tf.data.csv(path, {"columnConfigs": {"a": {"islabel": True}}})
    with pytest.raises(ValueError, match="dtype must be one of float32, int32, bool, got 'int64'"):
        tf.data.csv(path, {"columnConfigs": {"a": {"dtype": "int64"}}})
    with pytest.raises(ValueError, match="delimiter should not be provided"):
        tf.data.csv(path, {"delimWhitespace": True, "delimiter": " "})
    with pytest.raises(ValueError, match="delimiter must be a single character, got '::'"):
        tf.data.csv(path, {"delimiter": "::"})
    with pytest.raises(ValueError, match="configuredColumnsOnly needs columnConfigs"):
        tf.data.csv(path, {"configuredColumnsOnly": True})


def test_file_content_errors(write):
    with pytest.raises(ValueError, match="column names must be provided"):
        run(tf.data.csv(write("1,2\n"), {"hasHeader": False}).toArray())
    with pytest.raises(ValueError, match=r"provided columnNames \(3\) does not match .* \(2\)"):
        run(tf.data.csv(write("a,b\n1,2\n"), {"columnNames": ["x", "y", "z"]}).toArray())
    with pytest.raises(ValueError, match="duplicate column names found: a"):
        run(tf.data.csv(write("a,b,a\n1,2,3\n")).toArray())
    with pytest.raises(ValueError, match=r"invalid row 2 \(line 3 .*\): should have 2 elements "
                                         r"in a row, but got 3"):
        run(tf.data.csv(write("a,b\n1,2\n1,2,3\n")).toArray())
    with pytest.raises(ValueError, match="no data was found"):
        run(tf.data.csv(write("")).toArray())
    with pytest.raises(FileNotFoundError, match="csv: no such file '/nonexistent/x.csv'"):
        run(tf.data.csv("file:///nonexistent/x.csv").toArray())
    with pytest.raises(TypeError, match="the source must be a file path"):
        tf.data.csv(42)


@pytest.fixture
def http_server(tmp_path):
    handler = functools.partial(QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_csv_over_http(tmp_path, http_server):
    (tmp_path / "boston.csv").write_text("crim,zn,medv\n0.1,18,24\n0.2,0,21.6\n")
    ds = tf.data.csv(f"{http_server}/boston.csv", {"columnConfigs": {"medv": {"isLabel": True}}})
    assert run(ds.columnNames()) == ["crim", "zn", "medv"]
    rows = run(ds.toArray())
    assert rows == [{"xs": {"crim": 0.1, "zn": 18.0}, "ys": {"medv": 24.0}},
                    {"xs": {"crim": 0.2, "zn": 0.0}, "ys": {"medv": 21.6}}]
    (batch,) = run(ds.batch(2).toArray())
    np.testing.assert_allclose(batch["ys"]["medv"].arraySync(), [24.0, 21.6], rtol=1e-6)
    with pytest.raises(OSError, match=r"fetching .*/missing.csv failed with HTTP 404"):
        run(tf.data.csv(f"{http_server}/missing.csv").toArray())


def test_nan_and_infinity_follow_javascript_number(write):
    rows = run(tf.data.csv(write("a,b,c,d\nInfinity,NaN,0x10, 4 \n")).toArray())
    assert rows == [{"a": math.inf, "b": "NaN", "c": 16.0, "d": 4.0}]
