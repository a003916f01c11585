"""The "Colorize layer" dialog, built in code: output path, model, device, fill nodata, style and the engine's Python."""

from __future__ import annotations

from dataclasses import dataclass

from qgis.gui import QgsFileWidget
from qgis.PyQt.QtWidgets import QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QWidget

from . import settings
from .engine import ColorizeParams


@dataclass(frozen=True)
class DialogChoice:
    """What the dialog returns: the run's parameters and the engine Python ('' = auto-detect)."""

    params: ColorizeParams
    python: str


class ColorizeDialog(QDialog):
    """Ask for output, model, device and engine Python; remember model, device and Python in QSettings."""

    def __init__(self, layer_name: str, src: str, default_dst: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("geocolor: Colorize layer")
        self._src = src
        form = QFormLayout(self)
        form.addRow("Layer", QLabel(layer_name))
        self.output = self._file_widget(QgsFileWidget.SaveFile, "GeoTIFF (*.tif *.tiff)", default_dst)
        form.addRow("Output GeoTIFF", self.output)
        self.model = self._file_widget(QgsFileWidget.GetFile, "geocolor model (*.pt)", settings.get("model"))
        self.model.lineEdit().setPlaceholderText("shipped default model")
        form.addRow("Model", self.model)
        self.device = QComboBox()
        self.device.addItems(settings.DEVICES)
        self.device.setCurrentText(settings.device())
        form.addRow("Device", self.device)
        self.fill_nodata = QCheckBox("Fill nodata holes first (inpaint)")
        form.addRow("", self.fill_nodata)
        self.style = self._file_widget(QgsFileWidget.GetFile, "GeoTIFF (*.tif *.tiff);;All files (*)", "")
        self.style.lineEdit().setPlaceholderText("none (a colour reference raster, or type a style name)")
        form.addRow("Style", self.style)
        self.python = self._file_widget(QgsFileWidget.GetFile, "", settings.get("python"))
        self.python.lineEdit().setPlaceholderText("auto-detect (the installed engine, in QGIS, PATH, conda environments)")
        form.addRow("geocolor Python", self.python)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    @staticmethod
    def _file_widget(mode: QgsFileWidget.StorageMode, filters: str, value: str) -> QgsFileWidget:
        widget = QgsFileWidget()
        widget.setStorageMode(mode)
        widget.setFilter(filters)
        widget.setFilePath(value)
        return widget

    def choice(self) -> DialogChoice:
        """The parameters as entered; also stores model, device and Python for next time."""
        model, device, python = self.model.filePath().strip(), self.device.currentText(), self.python.filePath().strip()
        settings.put("model", model)
        settings.put("device", device)
        settings.put("python", python)
        dst = self.output.filePath().strip()
        params = ColorizeParams(self._src, dst, model or None, device, overwrite=True, fill_nodata=self.fill_nodata.isChecked(),
                                style=self.style.filePath().strip() or None)
        return DialogChoice(params, python)
